#include "cep/cli/command.hpp"

int main(int argc, char** argv) { return cep::cli::main("replay", argc, argv); }
