"""Running the bundled playbooks through ansible-runner."""
