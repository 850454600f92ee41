"""Allow ``python -m packetnetworking``."""
from packetnetworking.entry import main

if __name__ == "__main__":
    main()
