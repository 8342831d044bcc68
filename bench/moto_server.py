"""moto's S3 server for the benchmarks, with one fix to the stand-in itself: moto's server lists its own package
folder (about 200 stat calls) on every request to find which service a host names. That listing cannot change
while the server runs, so it is made once here; everything else is `python -m moto.server` as it ships.

On this 2-core machine the S3 stand-in shares the cores with the workers it serves, and the listing was a fifth of
its CPU per stored file (py-spy), time a real S3 does not take from the pipeline."""

from __future__ import annotations

import sys

from moto import backends
from moto.server import main

MODULES = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(MODULES)

if __name__ == "__main__":
    sys.exit(main())
