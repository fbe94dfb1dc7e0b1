"""What a spec change does: the semantic change list of two plans, and its effect measured on snapshot history.

``changes.compare(base, head)`` lists rules added, removed, changed (with
field-level changes in the language's words), renamed and unchanged;
``measure`` evaluates the rules that changed on both sides over the same
prepared snapshots and counts what each side does; ``report`` renders it
(text, markdown, JSON). The CLI (``plays diff``) wires them together.
"""
