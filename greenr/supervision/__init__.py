"""Running the project's servers on one machine: process groups, pid files, readiness."""
