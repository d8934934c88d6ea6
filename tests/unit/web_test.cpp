// The dashboard's pure parts: escaping, the --http flag, the token file,
// the metrics' text format and the charts' element counts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "coordinator/web/html.hpp"
#include "coordinator/web/metrics.hpp"
#include "coordinator/web/server.hpp"

namespace yardstick {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(WebHtml, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(web::esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(web::url_encode("a b/é&"), "a%20b%2F%C3%A9%26");
  const std::string page = web::page("<script>", "body");
  EXPECT_EQ(page.find("<script>"), std::string::npos);
}

TEST(WebHtml, ChartsDrawOneElementPerValue) {
  std::vector<web::Bar> bars = {{"base", 1.0, std::nullopt, std::nullopt, "base", "t"},
                                {"<v>", 0.5, 0.4, 0.6, "faster", "t"}};
  const std::string svg = web::bar_chart(bars, "s");
  EXPECT_EQ(count(svg, "<rect class=\"bar "), 2u);
  EXPECT_EQ(count(svg, "class=\"whisker\""), 1u);
  EXPECT_EQ(svg.find("<v>"), std::string::npos);
  web::ChartSeries a{"m1", {{0, 1, "a", ""}, {1, 2, "b", "slower"}}};
  web::ChartSeries b{"m2", {{1, 3, "c", ""}}};
  const std::string line = web::line_chart({"r1", "r2"}, {a, b}, 2.5, "seconds");
  EXPECT_EQ(count(line, "class=\"point\""), 3u);
  EXPECT_EQ(count(line, "class=\"mark mark-slower\""), 1u);
  EXPECT_EQ(count(line, "class=\"budget\""), 1u);
  EXPECT_EQ(count(line, "<polyline"), 1u);  // a single point draws no line
}

TEST(WebFlags, HttpAddressIsHostPortOrOff) {
  WebOptions o;
  bool on = true;
  EXPECT_EQ(parse_http_address("off", &on, &o), "");
  EXPECT_FALSE(on);
  EXPECT_EQ(parse_http_address("0.0.0.0:8080", &on, &o), "");
  EXPECT_TRUE(on);
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(parse_http_address("[::1]:7480", &on, &o), "");
  EXPECT_EQ(o.host, "::1");
  EXPECT_NE(parse_http_address("localhost", &on, &o), "");
  EXPECT_NE(parse_http_address("127.0.0.1:99999", &on, &o), "");
  EXPECT_NE(parse_http_address("127.0.0.1:x", &on, &o), "");
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.1.2.3"));
}

TEST(WebFlags, TokenFileMustBePrivateAndLongEnough) {
  char dir[] = "/tmp/web-token-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/token";
  std::ofstream(path) << "  0123456789abcdefXYZ  \nsecond line\n";
  ::chmod(path.c_str(), 0644);
  std::string error;
  EXPECT_EQ(read_token_file(path, &error), "");
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  ::chmod(path.c_str(), 0600);
  error.clear();
  EXPECT_EQ(read_token_file(path, &error), "0123456789abcdefXYZ") << error;
  std::ofstream(path) << "short\n";
  EXPECT_EQ(read_token_file(path, &error), "");
  EXPECT_NE(error.find("shorter than 16"), std::string::npos);
  std::remove(path.c_str());
  ::rmdir(dir);
}

TEST(WebMetrics, HistogramBucketsAreCumulativeAndLabelsEscaped) {
  CoordinatorMetrics m;
  m.dispatch_latency.observe_us(300);         // 0.0003 s: the first bucket
  m.dispatch_latency.observe_us(20'000);      // 0.02 s
  m.dispatch_latency.observe_us(60'000'000);  // 60 s: past every bound
  m.queue_depth = 3;
  m.publish_spool({{"a\"b", 7}});
  StoredCounts stored;
  stored.available = true;
  stored.refusals = {{"sample", 2}};
  const std::string text = render_metrics(m, stored);
  EXPECT_NE(text.find("yardstick_dispatch_latency_seconds_bucket{le=\"0.0005\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("yardstick_dispatch_latency_seconds_bucket{le=\"0.025\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("yardstick_dispatch_latency_seconds_bucket{le=\"10\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("yardstick_dispatch_latency_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("yardstick_dispatch_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("yardstick_queue_depth 3\n"), std::string::npos);
  EXPECT_NE(text.find("yardstick_agent_spool_backlog{agent=\"a\\\"b\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("yardstick_refusals_total{what=\"sample\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("yardstick_jobs{state=\"queued\"} 0\n"), std::string::npos);
  // Without the database, the stored series are left out, not shown as 0.
  EXPECT_EQ(render_metrics(m, StoredCounts{}).find("yardstick_refusals_total"), std::string::npos);
}

}  // namespace
}  // namespace yardstick
