"""``python -m imgfilter`` runs the command line."""

from imgfilter.cli import main

if __name__ == "__main__":
    main(prog_name="imgfilter")
