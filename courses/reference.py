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

CONTENTS = [
    (1, "Luật pháp quốc tế về quyền con người, đặc biệt là 07 công ước quốc tế cơ bản mà Việt Nam là thành viên",
     "International human-rights law, above all the seven core conventions Vietnam is party to"),
    (2, "Chủ trương của Đảng, chính sách, pháp luật của Nhà nước về quyền con người; nội luật hóa các cam kết "
        "quốc tế", "Party guidelines and State law on human rights; internalisation of international commitments"),
    (3, "Tình hình, nỗ lực và thành tựu bảo đảm quyền con người (xóa đói, giảm nghèo, nhóm yếu thế)",
     "Situation, efforts and achievements in ensuring human rights (poverty reduction, vulnerable groups)"),
    (4, "Các vụ việc, đối tượng lợi dụng tự do, dân chủ, nhân quyền để vi phạm pháp luật",
     "Cases and actors abusing freedom, democracy and human rights to break the law"),
    (5, "Ưu tiên đối ngoại và đóng góp của Việt Nam về quyền con người",
     "Vietnam's foreign-affairs priorities and contributions on human rights"),
]


def load_reference(session: Session) -> None:
    existing = set(session.scalars(sa.select(Convention.code)))
    for position, (code, vi, en, adopted, adopted_on, party, party_on) in enumerate(CONVENTIONS):
        if code not in existing:
            session.add(Convention(code=code, name_vi=vi, name_en=en, adopted_year=adopted, adopted_on=adopted_on,
                                   vn_party_year=party, vn_party_on=party_on, position=position))
    numbers = set(session.scalars(sa.select(ContentArea.number)))
    for number, vi, en in CONTENTS:
        if number not in numbers:
            session.add(ContentArea(number=number, name_vi=vi, name_en=en))
    session.flush()
