"""Video Ops Console entry point: `python main.py` opens the GUI, `python main.py <command>`
runs the same operations from the terminal (`python main.py --help`)."""

import sys

from console.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
