"""(placeholder: being written)"""


def check_playbooks(ctx):
    return None
