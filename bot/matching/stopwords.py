"""Function words that carry no topic. Question words (how, where, when, who, сколько,
где, когда, кто) are deliberately kept: they separate "where is" from "when is"."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


EN = _words("""
a an the is are was were be been being am do does did doing done have has had having i im
me my mine myself we us our ours you your yours u ur he him his she her hers it its they
them their theirs this that these those of in on at to for from by with about as into
through over under up out off than then so and or but if because while can could would
should will shall may might must there here some any just very also too please pls plz
tell know want wanna need like let s t d ll m re ve dont doesnt isnt arent cant whats
kindly sir madam maam dear am also gonna would id ill ive r
""")

RU = _words("""
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее
мне было вот от меня еще нет о об из ему теперь даже ну ли если уже или ни быть был него
до вас нибудь уж вам ведь там потом себя ей они тут есть надо ней для мы тебя их чем была
сам чтоб без будто чего раз тоже себе под ж тогда этот того потому этого совсем ним здесь
этом почти мой тем чтобы нее сейчас были куда при хоть над тот через эти нас про всего них
разве эту моя впрочем свою этой перед чуть том такой им всю между пожалуйста подскажите
скажите подскажи скажи хочу хотел хотела хотим хотелось ваш ваша ваше ваши вашем вашей
вашего вашу вашим у вас это меня мои моей мой нужно нужна нужен нужны можно могу ли либо
какой какая какие какое каков каковы
""")

ALL = EN | RU
