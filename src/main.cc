#include "app/app.h"

int main(int argc, char** argv) { return berth::app::run(argc, argv); }
