#pragma once

// `mpshare-extender simulate`: replay a node list and a pod list through a
// placement policy and report how the cluster fills up.
//
//   mpshare-extender simulate --nodes FILE --pods FILE [--policy NAME] [--seed N]
//       [--inflate] [--target RATIO] [--format text|json|csv] [--output FILE] [--progress]
//
// NAME: binpack, spread, fgd (default), or "equal-slices N" (also equal-slices=N,
// or equal-slices followed by N as the next argument).

namespace mpshare::extender {

// argv[0] is the program, argv[1] "simulate". Returns the exit status: 0 done,
// 2 bad arguments or input (the error, naming the flag or file:line, goes to
// stderr), 1 a failed run. A progress bar goes to stderr when it is a terminal
// or --progress is given.
int runSimulateCommand(int argc, char** argv);

}  // namespace mpshare::extender
