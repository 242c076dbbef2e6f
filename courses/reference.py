"""Reference data: the seven core conventions and the plan's five communication contents.

Loaded by ``lms init`` (idempotent: rows that exist are left as administrators edited them).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from courses.models import ContentArea, Convention

# code, Vietnamese name, English name, adopted (year, date), Vietnam party (year, date)
CONVENTIONS = [
    ("ICCPR", "Công ước quốc tế về các quyền dân sự và chính trị",
     "International Covenant on Civil and Political Rights", 1966, date(1966, 12, 16), 1982, date(1982, 9, 24)),
    ("ICESCR", "Công ước quốc tế về các quyền kinh tế, xã hội và văn hóa",
     "International Covenant on Economic, Social and Cultural Rights", 1966, date(1966, 12, 16), 1982,
     date(1982, 9, 24)),
    ("CEDAW", "Công ước về xóa bỏ mọi hình thức phân biệt đối xử với phụ nữ",
     "Convention on the Elimination of All Forms of Discrimination against Women", 1979, date(1979, 12, 18), 1982,
     date(1982, 2, 17)),
    ("ICERD", "Công ước quốc tế về xóa bỏ mọi hình thức phân biệt chủng tộc",
     "International Convention on the Elimination of All Forms of Racial Discrimination", 1965, date(1965, 12, 21),
     1982, date(1982, 6, 9)),
    ("CRC", "Công ước về quyền trẻ em", "Convention on the Rights of the Child", 1989, date(1989, 11, 20), 1990,
     date(1990, 2, 28)),
    ("CRPD", "Công ước về quyền của người khuyết tật", "Convention on the Rights of Persons with Disabilities",
     2006, date(2006, 12, 13), 2015, date(2015, 2, 5)),
    ("CAT", "Công ước chống tra tấn và các hình thức đối xử hoặc trừng phạt tàn bạo, vô nhân đạo hoặc hạ nhục "
     "con người", "Convention against Torture and Other Cruel, Inhuman or Degrading Treatment or Punishment", 1984,
     date(1984, 12, 10), 2015, date(2015, 2, 5)),
]

# The five communication contents of the plan (section II), in its full wording, with a short
# label for lists, filters and tags: number, name_vi, name_en, short_vi, short_en.
# Content 4: the plan's text reads "quyền và lợi ích hợp tác", a slip for the usual legal phrase
# "quyền và lợi ích hợp pháp" (as in Decision 1079/QĐ-TTg and Article 331 of the Criminal Code).
CONTENTS = [
    (1, "Luật pháp quốc tế về quyền con người, trong đó đặc biệt quan tâm tới 07 công ước quốc tế cơ bản về "
        "quyền con người mà Việt Nam là thành viên gồm: Công ước về các Quyền Dân sự và Chính trị; Công ước về "
        "các Quyền Kinh tế, Xã hội và Văn hóa; Công ước về Xóa bỏ mọi hình thức phân biệt đối xử với phụ nữ; "
        "Công ước về Xóa bỏ mọi hình thức phân biệt chủng tộc; Công ước về Quyền Trẻ em; Công ước về Quyền của "
        "Người khuyết tật; Công ước Chống tra tấn và các hình thức đối xử hoặc trừng phạt tàn bạo, vô nhân đạo "
        "hoặc hạ nhục con người; kinh nghiệm quốc tế về đảm bảo và thúc đẩy quyền con người",
     "International human rights law, with particular attention to the seven core international human rights "
     "conventions to which Vietnam is a party: the International Covenant on Civil and Political Rights; the "
     "International Covenant on Economic, Social and Cultural Rights; the Convention on the Elimination of All "
     "Forms of Discrimination against Women; the International Convention on the Elimination of All Forms of "
     "Racial Discrimination; the Convention on the Rights of the Child; the Convention on the Rights of Persons "
     "with Disabilities; the Convention against Torture and Other Cruel, Inhuman or Degrading Treatment or "
     "Punishment; international experience in ensuring and promoting human rights",
     "Luật pháp quốc tế về quyền con người", "International human rights law"),
    (2, "Chủ trương của Đảng, chính sách pháp luật của Nhà nước Việt Nam về quyền con người; kết quả nội luật hóa "
        "và triển khai thực thi các cam kết quốc tế về quyền con người, các cam kết quốc tế song phương và đa "
        "phương mà Việt Nam là thành viên hoặc có kế hoạch gia nhập",
     "The Party's guidelines and the Vietnamese State's policies and laws on human rights; the results of "
     "incorporating into domestic law and implementing international human rights commitments, and the bilateral "
     "and multilateral international commitments to which Vietnam is a party or plans to accede",
     "Chủ trương, chính sách, pháp luật về quyền con người", "Party and State policy and law on human rights"),
    (3, "Tình hình, nỗ lực và thành tựu bảo đảm quyền con người trên các lĩnh vực, trong đó có công tác xóa đói, "
        "giảm nghèo, chăm lo đời sống của người dân, các đối tượng yếu thế, dễ bị tổn thương để không ai bị bỏ "
        "lại phía sau; những đánh giá, nhận định tích cực của dư luận, truyền thông quốc tế về kết quả công tác "
        "bảo đảm và phát triển quyền con người của Việt Nam. Các thông tin tích cực, đề cao các giá trị đạo đức, "
        "hướng thiện, lối sống nhân văn, tinh thần đoàn kết, tương thân tương ái, lòng yêu nước, tự hào dân tộc",
     "The situation, efforts and achievements in ensuring human rights in all fields, including hunger "
     "eradication and poverty reduction and care for the lives of the people and of disadvantaged and vulnerable "
     "groups, so that no one is left behind; positive assessments and views of international public opinion and "
     "media on Vietnam's results in ensuring and developing human rights. Positive information that upholds moral "
     "values, goodness, a humane way of life, solidarity, mutual care and support, patriotism and national pride",
     "Thành tựu bảo đảm quyền con người", "Achievements in ensuring human rights"),
    (4, "Các vụ việc, các đối tượng trong nước và nước ngoài, các hành vi lợi dụng quyền tự do, dân chủ, quyền con "
        "người để vi phạm pháp luật, phương hại đến quyền và lợi ích hợp pháp của cá nhân, tổ chức và an ninh "
        "quốc gia, trật tự an toàn xã hội, hình ảnh, uy tín quốc tế của Việt Nam",
     "Cases, actors at home and abroad, and acts that abuse freedom, democracy and human rights to break the law, "
     "harming the lawful rights and interests of individuals and organisations, national security, social order "
     "and safety, and Vietnam's international image and standing",
     "Đấu tranh với hành vi lợi dụng quyền con người", "Countering the abuse of human rights"),
    (5, "Các ưu tiên trong đối ngoại về quyền con người của Việt Nam; về vị trí, vai trò, sáng kiến và đóng góp "
        "của Việt Nam trong các nỗ lực và thành tựu bảo đảm quyền con người ở cấp khu vực và quốc tế",
     "Vietnam's foreign-affairs priorities on human rights; Vietnam's position, role, initiatives and "
     "contributions in the efforts and achievements in ensuring human rights at the regional and international "
     "levels",
     "Đối ngoại về quyền con người", "Human rights in foreign affairs"),
]


def load_reference(session: Session) -> None:
    existing = set(session.scalars(sa.select(Convention.code)))
    for position, (code, vi, en, adopted, adopted_on, party, party_on) in enumerate(CONVENTIONS):
        if code not in existing:
            session.add(Convention(code=code, name_vi=vi, name_en=en, adopted_year=adopted, adopted_on=adopted_on,
                                   vn_party_year=party, vn_party_on=party_on, position=position))
    numbers = set(session.scalars(sa.select(ContentArea.number)))
    for number, vi, en, short_vi, short_en in CONTENTS:
        if number not in numbers:
            session.add(ContentArea(number=number, name_vi=vi, name_en=en, short_vi=short_vi, short_en=short_en))
    session.flush()
