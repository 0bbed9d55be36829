package main

import (
	"context"
)

func socketCmd() *command {
	return &command{
		name: "socket", args: "PID", short: "print the path of a process's agent socket (for curl)",
		long: "Socket prints the path of the socket the agent of process PID listens on, once it has\n" +
			"checked that the agent answers there, so other tools can talk to it:\n" +
			"  curl --unix-socket \"$(taskdump socket PID)\" http://x/v1/tasks",
		run: func(ctx context.Context, e *env, o *opts, args []string) error {
			if err := wantArgs(args, 1, "PID"); err != nil {
				return err
			}
			c, err := dial(o.dir, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Process(ctx); err != nil {
				return err
			}
			e.outf("%s\n", c.Path())
			return nil
		},
	}
}
