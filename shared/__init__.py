"""Kopilka's domain package: the loyalty rules, the ledger and their stores.

A function instance imports this package first, right after the Functions
Framework has loaded, and keeps what it imports for the life of the instance.
Every object allocated so far (the framework, Flask, the standard library's
modules) is therefore permanent, so it is frozen out of the cyclic garbage
collector's reach: the collections that the package's own imports trigger
then traverse only what those imports allocate, instead of running a full
collection over the whole heap in the middle of a cold start.
"""

import gc

gc.freeze()
