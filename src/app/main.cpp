#include "app/cli.hpp"
#include "util/malloc_tuning.hpp"

int main(int argc, char** argv) {
  mladmin::util::tune_malloc();
  return mladmin::app::run_cli(argc, argv);
}
