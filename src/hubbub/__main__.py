import sys

from hubbub.cli import main

# Guarded: `hubbub bench` spawns worker processes, which import this module by name.
if __name__ == "__main__":
    sys.exit(main())
