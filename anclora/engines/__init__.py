"""The engine runtime: the sandbox, warm workers, the LibreOffice pool and its bridge, zip checks."""
