"""The desktop window: drop photos and videos on it, review what will be covered in each
photo, save clean copies.

``anonymise-drop [PATH...]`` or ``python -m anonymise.desktop [PATH...]``. The window is a
thin shell like the command line: `review` is the model, `window` the Tk view, `background`
runs detection and saving off the UI thread, `app` puts them together.
"""
