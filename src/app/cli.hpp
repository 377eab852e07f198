#pragma once

namespace mladmin::app {

/// Parses the command line (README.md "Running it") and runs the chosen command; returns the exit code:
/// 0 success, 1 failure (message on stderr), CLI11's codes (100 and up) for a command line it
/// refuses; `sync` and `jobs` add theirs (app/remote_commands.hpp).
int run_cli(int argc, char** argv);

}  // namespace mladmin::app
