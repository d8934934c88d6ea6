#include "coordinator/cli/completion.hpp"

#include <sstream>

namespace yardstick {

namespace {

// One option or positional, as completion sees it.
struct Arg {
  std::vector<std::string> names;  // "--key", "-f"; for a positional its name
  std::string help;                // one line
  bool takes_value = false;        // an option followed by a value
  bool files = false;              // its value is a file name
  std::vector<std::string> words;  // or one of these words
};

struct Command {
  std::string name, help;
  std::vector<Arg> options, positionals;
};

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\t') c = ' ';
  return text;
}

// {a,b,c} in a type name (how CLI::IsMember describes itself) → a, b, c.
std::vector<std::string> members(const std::string& type_name) {
  std::vector<std::string> out;
  const auto open = type_name.find('{'), close = type_name.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return out;
  std::stringstream in(type_name.substr(open + 1, close - open - 1));
  for (std::string word; std::getline(in, word, ',');)
    if (!word.empty()) out.push_back(word);
  return out;
}

Arg arg_of(const CLI::Option* o, const std::vector<std::string>& report_names) {
  Arg a;
  a.help = one_line(o->get_description());
  if (o->nonpositional()) {
    for (const auto& l : o->get_lnames()) a.names.push_back("--" + l);
    for (const auto& s : o->get_snames()) a.names.push_back("-" + s);
    a.takes_value = o->get_expected_max() > 0;  // a flag expects none
  } else {
    a.names.push_back(o->get_name());
    a.takes_value = true;
  }
  const std::string type = o->get_type_name();
  if (type.rfind("FILE", 0) == 0)
    a.files = true;
  else if (type.rfind("REPORT", 0) == 0)
    a.words = report_names;
  else
    a.words = members(type);
  return a;
}

void collect(const CLI::App& app, const std::vector<std::string>& report_names,
             std::vector<Arg>* options, std::vector<Arg>* positionals) {
  for (const CLI::Option* o : app.get_options()) {
    Arg a = arg_of(o, report_names);
    (o->nonpositional() ? options : positionals)->push_back(std::move(a));
  }
}

std::string join(const std::vector<std::string>& words, const std::string& sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// A subcommand's own options, then the global ones it does not redefine
// (each subcommand has its own --help).
std::vector<Arg> with_globals(const std::vector<Arg>& own, const std::vector<Arg>& globals) {
  std::vector<Arg> all = own;
  for (const auto& g : globals) {
    bool redefined = false;
    for (const auto& a : own)
      for (const auto& n : a.names) redefined |= n == g.names.front();
    if (!redefined) all.push_back(g);
  }
  return all;
}

// The option names of `options` that take a value, as a bash case pattern.
std::string value_pattern(const std::vector<Arg>& options) {
  std::vector<std::string> names;
  for (const auto& a : options)
    if (a.takes_value)
      for (const auto& n : a.names) names.push_back(n);
  return join(names, "|");
}

// The bash lines that complete the value of an option or positional `a`.
std::string bash_values(const Arg& a, const std::string& indent) {
  if (a.files)
    return indent + "compopt -o filenames; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
  if (!a.words.empty())
    return indent + "mapfile -t COMPREPLY < <(compgen -W '" + join(a.words, " ") +
           "' -- \"$cur\")\n";
  return indent + ":\n";
}

std::string bash_script(const std::string& program, const std::vector<Arg>& globals,
                        const std::vector<Command>& commands) {
  std::string fn = "_";
  for (char c : program) fn += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  std::vector<std::string> names, global_words;
  for (const auto& c : commands) names.push_back(c.name);
  for (const auto& a : globals)
    for (const auto& n : a.names) global_words.push_back(n);
  const std::string global_values = value_pattern(globals);
  std::ostringstream s;
  s << "# bash completion for " << program << ", written by `" << program
    << " completion bash` from its own command line\n"
    << fn << "() {\n"
    << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} sub= i w\n"
    << "  local -i at=0 n=0\n"
    << "  COMPREPLY=()\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    w=${COMP_WORDS[i]}\n"
    << "    case $w in\n";
  if (!global_values.empty()) s << "      " << global_values << ") ((i++)) ;;\n";
  s << "      " << join(names, "|") << ") sub=$w; at=$i; break ;;\n"
    << "    esac\n"
    << "  done\n"
    << "  case $sub in\n";
  auto body = [&](const std::string& label, const std::vector<Arg>& own,
                  const std::vector<Arg>& positionals, bool list_commands) {
    const std::vector<Arg> all = with_globals(own, globals);
    std::vector<std::string> words;
    for (const auto& a : all)
      for (const auto& n : a.names) words.push_back(n);
    s << "    " << label << ")\n"
      << "      case $prev in\n";
    // Values: file names, words, or nothing to offer (one arm each).
    std::vector<std::string> file_options, free_options;
    for (const auto& a : all) {
      if (!a.takes_value) continue;
      if (a.files)
        file_options.insert(file_options.end(), a.names.begin(), a.names.end());
      else if (a.words.empty())
        free_options.insert(free_options.end(), a.names.begin(), a.names.end());
      else
        s << "        " << join(a.names, "|") << ")\n"
          << bash_values(a, "          ") << "          return ;;\n";
    }
    if (!file_options.empty())
      s << "        " << join(file_options, "|") << ")\n"
        << bash_values(Arg{{}, "", true, true, {}}, "          ") << "          return ;;\n";
    if (!free_options.empty()) s << "        " << join(free_options, "|") << ") return ;;\n";
    s << "      esac\n"
      << "      if [[ $cur == -* ]]; then\n"
      << "        mapfile -t COMPREPLY < <(compgen -W '" << join(words, " ") << "' -- \"$cur\")\n"
      << "        return\n"
      << "      fi\n";
    if (list_commands) {
      s << "      mapfile -t COMPREPLY < <(compgen -W '" << join(names, " ") << "' -- \"$cur\")\n";
    } else if (!positionals.empty()) {
      // Which positional: the words after the subcommand that are neither
      // options nor their values.
      const std::string values = value_pattern(all);
      s << "      for ((i = at + 1; i < COMP_CWORD; i++)); do\n"
        << "        case ${COMP_WORDS[i]} in\n";
      if (!values.empty()) s << "          " << values << ") ((i++)) ;;\n";
      s << "          -*) ;;\n"
        << "          *) ((n++)) ;;\n"
        << "        esac\n"
        << "      done\n"
        << "      case $n in\n";
      for (size_t p = 0; p < positionals.size(); ++p)
        s << "        " << p << ")\n"
          << bash_values(positionals[p], "          ") << "          ;;\n";
      s << "      esac\n";
    }
    s << "      ;;\n";
  };
  body("\"\"", {}, {}, true);
  for (const auto& c : commands) body(c.name, c.options, c.positionals, false);
  s << "  esac\n"
    << "}\n"
    << "complete -F " << fn << " " << program << "\n";
  return s.str();
}

// Text inside a single-quoted zsh word, as _arguments reads an explanation
// (brackets quoted) and _describe a description.
std::string zsh_quoted(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else if (c == '[' || c == ']' || c == '\\')
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out;
}

std::string zsh_action(const Arg& a) {
  if (a.files) return "_files";
  if (!a.words.empty()) return "(" + join(a.words, " ") + ")";
  return " ";
}

std::string zsh_specs(const std::vector<Arg>& options, const std::vector<Arg>& positionals,
                      const std::string& indent) {
  std::string out;
  for (const auto& a : options)
    for (const auto& n : a.names) {
      out += indent + "'" + n + (a.takes_value && n.rfind("--", 0) == 0 ? "=" : "") + "[" +
             zsh_quoted(a.help) + "]";
      if (a.takes_value) out += ":value:" + zsh_action(a);
      out += "'\n";
    }
  for (const auto& a : positionals)
    out += indent + "':" + zsh_quoted(a.names.front()) + ":" + zsh_action(a) + "'\n";
  return out;
}

std::string zsh_script(const std::string& program, const std::vector<Arg>& globals,
                       const std::vector<Command>& commands) {
  std::ostringstream s;
  s << "#compdef " << program << "\n"
    << "# zsh completion for " << program << ", written by `" << program
    << " completion zsh` from its own command line\n"
    << "_" << program << "() {\n"
    << "  local curcontext=$curcontext state line ret=1\n"
    << "  local -a globals commands\n"
    << "  globals=(\n"
    << zsh_specs(globals, {}, "    ") << "  )\n"
    << "  _arguments -C $globals ': :->command' '*:: :->args' && ret=0\n"
    << "  case $state in\n"
    << "    command)\n"
    << "      commands=(\n";
  for (const auto& c : commands)
    s << "        '" << zsh_quoted(c.name) << ":" << zsh_quoted(c.help) << "'\n";
  s << "      )\n"
    << "      _describe -t commands '" << program << " command' commands && ret=0\n"
    << "      ;;\n"
    << "    args)\n"
    << "      curcontext=${curcontext%:*:*}:" << program << "-$line[1]:\n"
    << "      case $line[1] in\n";
  for (const auto& c : commands) {
    s << "        " << c.name << ")\n"
      << "          _arguments \\\n";
    std::istringstream lines(
        zsh_specs(with_globals(c.options, globals), c.positionals, "            "));
    for (std::string line; std::getline(lines, line);) s << line << " \\\n";
    s << "            && ret=0\n"
      << "          ;;\n";
  }
  s << "      esac\n"
    << "      ;;\n"
    << "  esac\n"
    << "  return ret\n"
    << "}\n"
    << "_" << program << " \"$@\"\n";
  return s.str();
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& program,
                              const std::string& shell,
                              const std::vector<std::string>& report_names) {
  std::vector<Arg> globals, ignored;
  collect(app, report_names, &globals, &ignored);
  std::vector<Command> commands;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden
    Command c{sub->get_name(), one_line(sub->get_description()), {}, {}};
    collect(*sub, report_names, &c.options, &c.positionals);
    commands.push_back(std::move(c));
  }
  if (shell == "bash") return bash_script(program, globals, commands);
  if (shell == "zsh") return zsh_script(program, globals, commands);
  return "";
}

}  // namespace yardstick
