from anonymise.cli import main

main()
