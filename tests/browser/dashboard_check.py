#!/usr/bin/python3
"""Drives headless Chromium through the dashboard of a coordinator whose
database real pipeline runs filled, and checks the rendered DOM of each
page against what those runs stored.

Usage: dashboard_check.py EXPECT.json
EXPECT.json names the dashboard's base URL, the ids of the pipelines and
jobs to visit, what each page must show, a folder for screenshots, and the
file to create once the live job's page shows its first line (the job then
prints its last line, which the open page must show without a reload).

Exit 0 when every check holds; 1 with every failed check listed.
"""
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    else:
        print("ok:", what, flush=True)


def png_colours(data):
    """Distinct RGB colours of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        for x in range(0, stride, bpp):
            colours.add(bytes(line[x:x + 3]))
        prev = line
    return len(colours)


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def main():
    x = json.load(open(sys.argv[1]))
    base = x["base"]
    opts = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1300,1000", "--user-data-dir=" + x["profile"]):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(20)
    try:
        run(d, base, x)
    finally:
        d.quit()
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


def texts(d, css):
    return [e.text for e in d.find_elements(By.CSS_SELECTOR, css)]


def wait_until(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def run(d, base, x):
    # The live job first: its page opens while it waits for the go file.
    d.get(base + "/jobs/%d" % x["live_job"])
    log = lambda: d.find_element(By.ID, "log").text
    check(wait_until(lambda: "before-line" in log(), 20), "live job shows its first line")
    check("after-line" not in log(), "live job's last line is not there yet")
    open(x["go_file"], "w").write("go\n")
    check(wait_until(lambda: x["live_marker"] in log(), 30),
          "live job's page shows a line printed after it was opened")
    check(wait_until(lambda: d.find_element(By.ID, "state").text == "succeeded", 20),
          "live job's state follows to succeeded")

    # Recent pipelines.
    d.get(base + "/")
    rows = d.find_elements(By.CSS_SELECTOR, "#pipelines tr.pipeline-row")
    check(len(rows) == x["pipelines"], "/ lists %d pipelines (%d)" % (x["pipelines"], len(rows)))
    row_text = {r.find_element(By.CSS_SELECTOR, "td a").text: r.text for r in rows}
    check("failed" in row_text.get(str(x["failed_pipeline"]), ""), "/ shows the failed pipeline failed")
    check("over budget" in row_text.get(str(x["build_pipeline"]), ""),
          "/ marks the build pipeline over budget")
    check(all(m in d.page_source for m in x["machines"]), "/ names both machines")
    d.get(base + "/?name=" + x["bench_name"])
    check(len(d.find_elements(By.CSS_SELECTOR, "#pipelines tr.pipeline-row")) == 1,
          "/?name= filters to the one bench pipeline")

    # A build pipeline: its jobs, the timeline, the summary's budgets.
    d.get(base + "/pipelines/%d" % x["build_pipeline"])
    check(len(d.find_elements(By.CSS_SELECTOR, "#jobs tr.job-row")) == x["build_jobs"],
          "pipeline page lists %d jobs" % x["build_jobs"])
    check(len(d.find_elements(By.CSS_SELECTOR, "svg.timeline rect.span")) == x["build_jobs"],
          "pipeline timeline has one bar per job")
    summary = d.find_element(By.ID, "summary").text
    check("✓" in summary and "✗" in summary, "summary shows budgets met (✓) and breached (✗)")

    # The bench pipeline's summary shows its verdicts too.
    d.get(base + "/pipelines/%d" % x["bench_pipeline"])
    check(d.find_element(By.ID, "summary").text.count("faster") >= 2,
          "bench pipeline's summary shows the variant verdicts")

    # A job page: steps and the stored log.
    d.get(base + "/jobs/%d" % x["build_job"])
    check(len(d.find_elements(By.CSS_SELECTOR, "#steps tr.step-row")) == x["build_job_steps"],
          "job page lists its steps")
    check(wait_until(lambda: "compiling" in log(), 10), "job page shows the stored log")
    check(len(d.find_elements(By.CSS_SELECTOR, "#caches tr, #metrics tr")) >= 2,
          "job page shows the job's metrics")

    # Compare: a bar per variant and machine, whiskers for the variants.
    d.get(base + "/compare/%d" % x["bench_pipeline"])
    bars = d.find_elements(By.CSS_SELECTOR, "svg.bar-chart rect.bar")
    check(len(bars) == x["bench_bars"], "compare has %d bars (%d)" % (x["bench_bars"], len(bars)))
    check(len(d.find_elements(By.CSS_SELECTOR, "svg.bar-chart g.whisker")) == x["bench_bars"] // 2,
          "compare has a whisker per variant against its baseline")
    verdicts = texts(d, "table.variants span.verdict")
    check(verdicts.count("faster") == x["bench_bars"] // 2 and verdicts.count("baseline") ==
          x["bench_bars"] // 2, "compare's verdicts: %s" % verdicts)
    shot = os.path.join(x["screenshots"], "compare.png")
    d.save_screenshot(shot)
    n = png_colours(open(shot, "rb").read())
    check(n >= 8, "compare screenshot is not blank (%d colours)" % n)

    # Trends: a point per revision and machine, the budget as a line.
    d.get(base + "/trends?pipeline=%s&job=%s" % (x["build_name"], x["build_job_name"]))
    points = d.find_elements(By.CSS_SELECTOR, "svg.line-chart circle.point")
    check(len(points) == x["trend_points"], "trends has %d points (%d)" % (x["trend_points"], len(points)))
    check(len(d.find_elements(By.CSS_SELECTOR, "svg.line-chart g.series")) == len(x["machines"]),
          "trends has one line per machine")
    check(len(d.find_elements(By.CSS_SELECTOR, "svg.line-chart line.budget")) == 1,
          "trends draws the budget")
    shot = os.path.join(x["screenshots"], "trends.png")
    d.save_screenshot(shot)
    n = png_colours(open(shot, "rb").read())
    check(n >= 8, "trends screenshot is not blank (%d colours)" % n)

    # Machines, with the speed index of the bench job.
    d.get(base + "/machines?job=%s" % x["bench_job_name"])
    check(len(d.find_elements(By.CSS_SELECTOR, "#machines tr.machine-row")) == len(x["machines"]),
          "machines lists each machine")
    check(len(d.find_elements(By.CSS_SELECTOR, "#speed tr.speed-row")) >= len(x["machines"]),
          "machines shows the speed index rows")

    # Deploys: phases on a timeline, the probe count, the rollback.
    d.get(base + "/deploys")
    sections = d.find_elements(By.CSS_SELECTOR, "section.deploy")
    check(len(sections) == 1, "deploys lists the one deploy")
    if sections:
        t = sections[0].text
        check("Rolled back" in t, "deploy shows its rollback")
        check("failed requests of" in t, "deploy shows the probe's count")
        check(len(sections[0].find_elements(By.CSS_SELECTOR, "rect.span")) >= 2,
              "deploy timeline has its phases")

    # Reports: a table, its form, CSV.
    d.get(base + "/reports")
    check(len(d.find_elements(By.CSS_SELECTOR, "#reports tr")) > 5, "reports are listed")
    d.get(base + "/reports/deploy_phases")
    check(len(d.find_elements(By.CSS_SELECTOR, "#report tr.report-row")) == 1,
          "deploy_phases report has one row")
    check(len(d.find_elements(By.CSS_SELECTOR, "#report-form input[name=last]")) == 1,
          "report form has its parameters")
    code, body = status_of(base + "/reports/deploy_phases?format=csv")
    check(code == 200 and body.count("\n") == 2, "CSV download has a header and one row")

    # Bad input: clear errors, never a crash.
    for path, want in (("/pipelines/abc", 400), ("/pipelines/99999999", 404),
                       ("/pipelines/99999999999999999999999", 400), ("/jobs/%d?attempt=x" % x["build_job"], 400),
                       ("/trends?pipeline=x&job=y&last=zz", 400), ("/reports/nope", 404),
                       ("/nowhere", 404), ("/trends?pipeline=" + "x" * 300, 400)):
        code, _ = status_of(base + path)
        check(code == want, "%s answers %d (%d)" % (path, want, code))
    # Text from the database is escaped, never markup.
    for path in ("/pipelines/%d" % x["failed_pipeline"], "/jobs/%d" % x["failed_job"]):
        d.get(base + path)
        check(len(d.find_elements(By.ID, "injected")) == 0 and x["html_name"] in d.find_element(
            By.TAG_NAME, "body").text, "%s shows a name that is markup as text" % path)


if __name__ == "__main__":
    sys.exit(main())
