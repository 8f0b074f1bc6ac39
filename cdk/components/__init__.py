"""The constructs of the C4 stack, one capability each (keys, lake, catalogue, jobs, ...).

(This folder is not called ``constructs`` so it can never shadow the ``constructs`` library.)
"""
