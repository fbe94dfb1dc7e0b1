"""(placeholder: being written)"""


def check_templates(ctx):
    return None
