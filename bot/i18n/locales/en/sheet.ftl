# The knowledge base as a spreadsheet: /kb export, and the edited workbook sent back.

sheet-export-caption =
    📗 The knowledge base: { $entries } entries, { $news } news items, { $examples } out-of-scope examples (version <code>{ $version }</code>).
    Edit it in Excel, LibreOffice or Google Sheets (the first sheet explains the columns), save it as .xlsx and send the file back here. I will show what changes before anything is saved.
sheet-export-broken = ⚠️ The knowledge-base files have errors, so there is nothing consistent to export. /reload lists them.
sheet-too-big = ⚠️ The file is { $size } MB; I accept workbooks of at most { $limit } MB. Nothing was changed.
sheet-download-failed = ⚠️ I could not download the file from Telegram ({ $error }). Please send it again. Nothing was changed.
sheet-not-workbook = ⚠️ { $reason }. Nothing was changed.
sheet-checking = ⏳ Checking the workbook…
sheet-errors-title = ❌ <b>The workbook has { $count ->
        [one] one mistake
       *[other] { $count } mistakes
    }</b>, so nothing was changed. Fix { $count ->
        [one] it
       *[other] them
    } and send the file again:
sheet-errors-more = … and { $count } more.
sheet-stale =
    ⚠️ This workbook was exported from an older version of the knowledge base (<code>{ $theirs }</code>); it has changed since (now <code>{ $current }</code>{ $who }). Nothing was changed: send /kb export, make your changes in the new file and send it again.
sheet-stale-who = , last change by { $author }, { $when }
sheet-no-changes = The workbook is the same as the knowledge base: nothing to change.
sheet-preview-title = 📝 <b>What this workbook changes</b>
sheet-warnings = { $count ->
        [one] One warning (it does not block saving):
       *[other] { $count } warnings (they do not block saving):
    }
sheet-preview-confirm = Save these changes? The bot answers with them right away.
btn-sheet-confirm = ✅ Confirm
btn-sheet-cancel = Cancel
sheet-cancelled = Cancelled: nothing was changed.
sheet-gone = The uploaded file is no longer there: send the workbook again.
sheet-saving = ⏳ Saving…
sheet-saved = ✅ Saved by { $name }: { $summary }. The bot answers with the new version now.
sheet-saved-reload-failed = ⚠️ The files were saved, but reloading failed: { $error }
sheet-invalid = ❌ The changes would break the knowledge base, nothing was saved:
sheet-already-saved = This workbook has already been saved (the first tap did it): nothing more to do.
