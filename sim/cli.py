"""The ``settlesim`` command line."""

def main() -> None:  # replaced below as commands are added
    raise SystemExit("settlesim: no commands yet")
