#pragma once

namespace mladmin::app {

/// Parses the command line (SPEC §8) and runs the chosen command; returns the exit code:
/// 0 success, 1 failure (message on stderr), 2 usage error.
int run_cli(int argc, char** argv);

}  // namespace mladmin::app
