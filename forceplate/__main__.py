import sys

from forceplate.cli import main

sys.exit(main())
