// exportsyncctl: thin main() around exportsync::agent::runCtl.
#include <iostream>
#include <string>
#include <vector>

#include "exportsync/agent/ctl.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return exportsync::agent::runCtl(args, std::cout, std::cerr);
}
