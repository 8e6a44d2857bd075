// Command segflow is the CLI: it builds the cobra command tree and calls
// into the packages that do the work.
package main

import "os"

func main() { os.Exit(execute(os.Args[1:])) }
