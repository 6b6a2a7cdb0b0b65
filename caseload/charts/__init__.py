"""Small charts drawn on the server as SVG: no script, readable when printed,
each with a title and description and always beside a table of its numbers.
`lines` draws line charts and sparklines, `bars` bar charts, both with the
pieces in `svg`.

Every colour, stroke and font is an SVG presentation attribute, so a chart looks
the same in the browser and in a PDF made by WeasyPrint without our stylesheet;
no ``style`` attribute or element (the Content-Security-Policy forbids inline
styles). Each element keeps an ``app-chart__…`` class as a hook. Labels are
escaped by ``format_html`` (``caseload.markup``'s). Figures are Decimals (or
ints); ``None`` means "no figure" and is never drawn as zero. Floats appear
only as pixel coordinates.
"""
