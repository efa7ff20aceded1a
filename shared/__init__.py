"""Kopilka's domain package: the loyalty rules, the ledger and their stores.

A function instance imports this package first, right after the Functions
Framework has loaded, and keeps what it imports for the life of the instance:
nothing the imports allocate is garbage. So, in a process the Functions
Framework runs, the cyclic garbage collector is paused from here until the
function's :class:`~shared.edge.http.Router` is built (the last step of every
``main.py``'s imports), which freezes what was loaded and resumes it
(:func:`resume_collector`): a cold start spends no time collecting, and later
collections never traverse the modules. Everything allocated before this
package (the framework, Flask) is frozen here already.
"""

import gc
import sys

gc.freeze()
_paused = "functions_framework" in sys.modules and gc.isenabled()
if _paused:
    gc.disable()


def resume_collector() -> None:
    """The function's modules are loaded: freeze them out of the collector's reach and resume it.
    Only the first call after the pause does anything (a process that builds more routers, a test
    run, freezes nothing more)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
