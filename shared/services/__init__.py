"""Use cases: plain functions over a unit of work; each commits once, through Store.run."""
