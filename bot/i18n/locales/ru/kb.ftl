# Сотрудники поддерживают базу знаний из Telegram (handlers/teach.py).

kb-help =
    📚 <b>База знаний</b>
    /unanswered — вопросы, на которые бот не ответил: одним нажатием добавить в запись или отметить как «не по теме»
    /kb todo — записи, факты которых сотрудникам ещё нужно подтвердить: пришлите верный ответ
    /kb history — последние изменения: кто, когда, что
    /kb undo — отменить последнее изменение
    /kb export — вся база знаний таблицей (пришлите её обратно с правками)
kb-invalid =
    ❌ Ничего не сохранено: изменение сломало бы базу знаний.
    { $errors }
kb-stale =
    ⚠️ Ничего не изменено: база знаний изменилась после того, как вам это показали (последнее изменение: «{ $summary }», { $author }, { $when }). { $retry }
kb-stale-unknown = ⚠️ Ничего не изменено: база знаний изменилась после того, как вам это показали. { $retry }
kb-reload-failed = ⚠️ Сохранено, но бот не смог перечитать базу: { $error }

teach-title = ❓ <b>Вопросы без ответа и с 👎 за { $days } дн.</b>: групп — { $groups }{ $shown ->
        [0] {""}
       *[other] , ниже { $shown } самых частых
    }. Выберите, что сделать с каждой: изменение действует сразу.
teach-empty = За последние { $days } дн. нет вопросов без ответа или с 👎. 🎉
teach-group = <b>{ $count } ×</b> <i>{ $example }</i> [{ $lang }]
teach-also = ещё: { $texts }
teach-rejected = 👎 Студенты поставили 👎 ответу «{ $title }» (<code>{ $entry }</code>): если факты неверны, исправьте их через /kb todo.
teach-closest = Ближайшая запись: <b>{ $title }</b> (<code>{ $entry }</code>, оценка { $score })
teach-nearest-weak = Подходящей записи нет (ближе всех <code>{ $entry }</code>, оценка { $score }, но это не то). Выберите запись или отметьте «не по теме».
teach-no-entry = Ни одна запись не подходит. Выберите запись или отметьте «не по теме».
btn-teach-add = ➕ Добавить в «{ $title }»
btn-teach-other = 📂 Другая запись…
btn-teach-oos = 🚫 Не по теме
btn-teach-ignore = 🙈 Пропустить
btn-teach-back = ◀️ Назад
teach-pick-category = К какой теме относится вопрос?
teach-pick-entry = Какая запись темы «{ $category }»?
teach-done-entry = ✅ { $author } добавил(а) { $count ->
        [one] этот вопрос
       *[other] эти вопросы ({ $count })
    } в «{ $title }»: теперь бот на { $count ->
        [one] него
       *[other] них
    } отвечает.
teach-done-nothing = ✅ { $author }: в «{ $title }» уже есть эти формулировки; группа убрана из списка.
teach-done-oos = 🚫 { $author } отметил(а) это как «не по теме»: на такие вопросы бот теперь честно говорит, что не поможет.
teach-done-ignore = 🙈 { $author } пропустил(а) эту группу.
teach-gone = Этой группы больше нет в списке: её уже разобрали или пришли новые вопросы. Отправьте /unanswered ещё раз.
teach-summary-entry = { $entry }: { $count } формулировк(и) ({ $lang }) из /unanswered
teach-summary-oos = { $count } пример(ов) «не по теме» ({ $lang }) из /unanswered

todo-title = 📝 <b>Записей, факты которых нужно подтвердить: { $count }.</b> Выберите запись (или «Другая запись…» для уже подтверждённой) и пришлите верный ответ.
todo-empty = ✅ Все записи подтверждены. Чтобы изменить запись, выберите её ниже.
btn-todo-other = 📂 Другая запись…
todo-entry =
    📝 <b>{ $title }</b> (<code>{ $entry }</code>)
    Источник: { $source }
    Текущий ответ на английском:
    <blockquote expandable>{ $en }</blockquote>
    Текущий ответ на русском:
    <blockquote expandable>{ $ru }</blockquote>
    Пришлите верный ответ одним сообщением, на английском или на русском; жирный шрифт, курсив и ссылки сохранятся. /cancel — отмена.
todo-no-source = не указан
todo-gone = Этой записи больше нет. Отправьте /kb todo ещё раз.
todo-need-text = Пришлите ответ текстовым сообщением (или /cancel).
todo-bad-html =
    ❌ Telegram не покажет этот текст: { $problems }
    Пришлите его ещё раз или /cancel.
todo-too-long = ❌ В ответе { $length } символов, а в сообщении можно не больше { $limit }. Пришлите покороче или /cancel.
todo-preview = 👆 Так студенты увидят ответ на <b>{ $language }</b> в записи «{ $title }». Сохранить и отметить запись как подтверждённую?
todo-language-en = английском
todo-language-ru = русском
btn-todo-confirm = ✅ Подтвердить
btn-todo-other-lang = 🔁 Это на { $language }
btn-todo-cancel = Отмена
todo-cancelled = Отменено: ничего не изменилось.
todo-expired = Этот предпросмотр устарел. Отправьте /kb todo ещё раз.
todo-saved = ✅ Сохранено ({ $author }): ответ на { $language } в записи «{ $title }» подтверждён, студенты получают его с этого момента.
todo-summary = ответ ({ $lang }) в { $entry } подтверждён

history-title = 🕘 <b>Последние изменения базы знаний</b>
history-item = { $when } · { $author }: { $summary }
history-undone = (отменено)
history-empty = Из Telegram и из командной строки базу ещё не меняли.
btn-history-undo = ↩️ Отменить последнее изменение
undo-confirm = ↩️ Отменить «{ $summary }» ({ $author }, { $when })? Файлы вернутся точно к прежнему виду.
btn-undo-confirm = ✅ Подтвердить отмену
undo-done = ↩️ { $author } отменил(а) «{ $summary }»: бот отвечает по предыдущей версии.
undo-nothing = Отменять нечего.
undo-cancelled = Отменено: ничего не изменилось.
