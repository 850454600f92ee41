"""The NetworkManager keyfile stack, shared by every family that runs NetworkManager:
``builder.py`` writes its keyfiles, ``foreign.py`` says what NetworkManager reads
and runs (every run consults it)."""
