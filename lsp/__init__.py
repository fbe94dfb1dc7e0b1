"""The language server (``plays lsp``): the compiler's diagnostics as you type, completion, hover, navigation.

``project`` is the workspace (spec sets, unsaved texts, the last check),
``symbols`` where names are declared and used, ``features`` completion and
hover in the language's words, ``server`` the protocol (pygls, an optional
dependency: ``pip install 'plays[lsp]'``). Only ``server`` imports pygls.
"""
