"""(placeholder: being written)"""


def lower(ctx, sources):
    return {}
