module example.com/tasks

go 1.26.0

require github.com/taskdump/taskdump v0.0.0

replace github.com/taskdump/taskdump => ../../../..
