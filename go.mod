module github.com/taskdump/taskdump

go 1.26
