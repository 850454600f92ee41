"""Allow ``python -m packetnetworking``."""
from packetnetworking.cli import main

if __name__ == "__main__":
    main()
