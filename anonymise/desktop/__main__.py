from anonymise.desktop.app import main

main()
