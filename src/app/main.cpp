#include "app/cli.hpp"

int main(int argc, char** argv) {
  return mladmin::app::run_cli(argc, argv);
}
