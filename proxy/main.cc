// Command line: parse arguments, load the config, run the server. Nothing else.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "edge_revision.h"  // generated at build time: EDGE_PROXY_REVISION
#include "config/dump.h"
#include "config/loader.h"
#include "config/units.h"
#include "proxy/log.h"
#include "proxy/runtime.h"
#include "proxy/server.h"

namespace {

constexpr const char* kUsage =
    "usage: edge-proxy --config FILE\n"
    "       edge-proxy --check-config FILE\n"
    "       edge-proxy --dump-config FILE\n"
    "       edge-proxy --listen HOST:PORT --upstream HOST:PORT [--workers N]\n"
    "\n"
    "An edge caching reverse proxy for HTTP/1.1 JSON APIs.\n"
    "\n"
    "  --config FILE        run with the YAML configuration in FILE\n"
    "  --check-config FILE  validate FILE, print every error, exit non-zero if any\n"
    "  --dump-config FILE   validate FILE like --check-config, then print the effective\n"
    "                       configuration (every default filled in) as YAML\n"
    "  --listen HOST:PORT   quick mode: listen here (port 0 picks a free port)...\n"
    "  --upstream HOST:PORT ...and proxy every request to this server\n"
    "  --workers N          worker threads (default: one per CPU core)\n"
    "  --log-level LEVEL    debug, info (default), warn or error\n"
    "  --version            print the version\n"
    "  --help               print this help\n";

struct Options {
  std::string config_file;
  bool check_only = false;
  bool dump = false;
  std::string listen;
  std::string upstream;
  int workers = -1;
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "edge-proxy: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

bool parseLogLevel(std::string_view text) {
  using edge::log::Level;
  if (text == "debug") {
    edge::log::setLevel(Level::Debug);
  } else if (text == "info") {
    edge::log::setLevel(Level::Info);
  } else if (text == "warn") {
    edge::log::setLevel(Level::Warn);
  } else if (text == "error") {
    edge::log::setLevel(Level::Error);
  } else {
    return false;
  }
  return true;
}

// Returns -1 to continue, or an exit code.
int parseArgs(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version" || arg == "-v") {
      std::printf("edge-proxy %s (revision %s)\n", EDGE_PROXY_VERSION, EDGE_PROXY_REVISION);
      return 0;
    } else if (arg == "--config" || arg == "-c") {
      if (!value(opts.config_file)) return usageError("--config needs a file");
    } else if (arg == "--check-config" || arg == "-t") {
      if (!value(opts.config_file)) return usageError("--check-config needs a file");
      opts.check_only = true;
    } else if (arg == "--dump-config") {
      if (!value(opts.config_file)) return usageError("--dump-config needs a file");
      opts.check_only = true;
      opts.dump = true;
    } else if (arg == "--listen") {
      if (!value(opts.listen)) return usageError("--listen needs HOST:PORT");
    } else if (arg == "--upstream") {
      if (!value(opts.upstream)) return usageError("--upstream needs HOST:PORT");
    } else if (arg == "--workers") {
      if (!value(v) || v.empty() || v.find_first_not_of("0123456789") != std::string::npos ||
          v.size() > 3 || std::stoi(v) < 1) {
        return usageError("--workers needs a number from 1 to 999");
      }
      opts.workers = std::stoi(v);
    } else if (arg == "--log-level") {
      if (!value(v) || !parseLogLevel(v)) {
        return usageError("--log-level takes debug, info, warn or error");
      }
    } else {
      return usageError("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  return -1;
}

edge::config::ConfigPtr loadConfig(const Options& opts, int& exit_code) {
  using namespace edge::config;
  if (!opts.config_file.empty()) {
    LoadResult result = loadConfigFile(opts.config_file);
    for (const ConfigError& e : result.errors) {
      std::fprintf(stderr, "%s\n", e.format().c_str());
    }
    if (!result.ok()) {
      std::fprintf(stderr, "edge-proxy: configuration %s has %zu error(s)\n",
                   opts.config_file.c_str(), result.errors.size());
      exit_code = 1;
      return nullptr;
    }
    return result.config;
  }
  auto listen = parseHostPort(opts.listen);
  auto upstream = parseHostPort(opts.upstream);
  if (!listen || !upstream) {
    exit_code = usageError(!listen ? "--listen: expected HOST:PORT, got \"" + opts.listen + "\""
                                   : "--upstream: expected HOST:PORT, got \"" + opts.upstream + "\"");
    return nullptr;
  }
  return quickConfig(*listen, *upstream);
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (int rc = parseArgs(argc, argv, opts); rc >= 0) {
    return rc;
  }
  bool quick = !opts.listen.empty() || !opts.upstream.empty();
  if (opts.config_file.empty() && !quick) {
    return usageError("give --config FILE, or --listen and --upstream");
  }
  if (!opts.config_file.empty() && quick) {
    return usageError("--config and --listen/--upstream cannot be combined");
  }
  int exit_code = 0;
  edge::config::ConfigPtr config = loadConfig(opts, exit_code);
  if (!config) {
    return exit_code;
  }
  if (opts.workers > 0) {
    auto copy = std::make_shared<edge::config::Config>(*config);
    copy->workers = static_cast<unsigned>(opts.workers);
    config = copy;
  }
  edge::tls::ConfigReport report;
  edge::RuntimePtr runtime = edge::buildRuntime(config, report);
  for (const edge::config::ConfigError& e : report.errors) {
    std::fprintf(stderr, "%s\n", e.format().c_str());
  }
  for (edge::config::ConfigError w : report.warnings) {
    w.message = "warning: " + w.message;
    std::fprintf(stderr, "%s\n", w.format().c_str());
  }
  if (!runtime) {
    std::fprintf(stderr, "edge-proxy: configuration %s has %zu error(s)\n",
                 config->source.c_str(), report.errors.size());
    return 1;
  }
  if (opts.dump) {
    std::fputs(edge::config::dumpConfig(*config).c_str(), stdout);
    return 0;
  }
  if (opts.check_only) {
    std::printf("configuration ok: %s (%zu listeners, %zu upstreams, %zu routes)\n",
                config->source.c_str(), config->listen.size(), config->upstreams.size(),
                config->routes.size());
    return 0;
  }
  edge::Server server(runtime, edge::ServerOptions{opts.workers});
  return server.run();
}
