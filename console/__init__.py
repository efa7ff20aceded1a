"""The back-office console: server-rendered Russian pages for the marketer, manager, accountant and admin.

``console.app`` holds the router, the session check, the page renderer and the
form helpers; each module of ``console.pages`` adds one part's screens. The
pages call the same use cases as the admin JSON API (:mod:`shared.services.admin`),
so the rules, the roles and the audit are theirs; ``templates/`` and ``static/``
are the pages' markup, style and their little JavaScript.
"""
