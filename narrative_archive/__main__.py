from narrative_archive.cli import main

main()
