"""The domain's words and bounds that help lists: a leaf, so that `taskvault help` reads them without
importing the task model (attrs, datetime) that the modules using them need."""

#: How many changes the history keeps (and so how far undo reaches).
HISTORY_LIMIT = 1000

#: The forms a due date may be typed in (dates.parse_date).
DATE_FORMS = "YYYY-MM-DD, today, tomorrow, mon…sun, next fri, last mon, +3d, -2w, +1m, +1y, eow, eom, som, someday, today-7d"

#: What `list --sort` orders by, in the order help names them: query.SORT_KEYS has one key for each.
SORT_NAMES = ("id", "due", "priority", "created", "updated", "title")
