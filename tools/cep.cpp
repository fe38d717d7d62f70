#include "cep/cli/front.hpp"

int main(int argc, char** argv) {
    return cep::cli::front_main(argc, argv);
}
