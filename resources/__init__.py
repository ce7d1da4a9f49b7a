"""Resources shipped with the GUI: style sheets and icons."""
