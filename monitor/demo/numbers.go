package demo

import (
	"math/rand/v2"
	"strconv"
)

// Vietnamese mobile prefixes (10-digit numbers since the 2018 renumbering), weighted
// roughly by the carriers' market share: Viettel, Vinaphone, MobiFone, Vietnamobile,
// Gmobile and iTel. Only the 03x, 08x and 09x ranges are used.
var mobilePrefixes = []struct {
	prefix string
	weight int
}{
	// Viettel
	{"096", 6}, {"097", 7}, {"098", 7}, {"086", 4},
	{"032", 3}, {"033", 3}, {"034", 3}, {"035", 3}, {"036", 3}, {"037", 3}, {"038", 3}, {"039", 3},
	// Vinaphone
	{"091", 5}, {"094", 5}, {"088", 2}, {"081", 2}, {"082", 2}, {"083", 2}, {"084", 2}, {"085", 2},
	// MobiFone
	{"090", 6}, {"093", 5}, {"089", 2},
	// Vietnamobile, Gmobile, iTel
	{"092", 1}, {"099", 1}, {"087", 1},
}

var mobileWeightTotal = func() int {
	n := 0
	for _, p := range mobilePrefixes {
		n += p.weight
	}
	return n
}()

// MobilePrefixes returns the three-digit mobile prefixes customer numbers are drawn from.
func MobilePrefixes() []string {
	out := make([]string, len(mobilePrefixes))
	for i, p := range mobilePrefixes {
		out[i] = p.prefix
	}
	return out
}

// mobileNumber draws a 10-digit Vietnamese mobile number ("0912345678").
func mobileNumber(r *rand.Rand) string {
	w := r.IntN(mobileWeightTotal)
	prefix := mobilePrefixes[0].prefix
	for _, p := range mobilePrefixes {
		if w < p.weight {
			prefix = p.prefix
			break
		}
		w -= p.weight
	}
	var b [10]byte
	copy(b[:], prefix)
	n := r.IntN(10_000_000)
	for i := 9; i >= 3; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// Vietnamese personal names: family names weighted by frequency, then a middle and a
// given name that agree with each other (male or female).
var familyNames = []struct {
	name   string
	weight int
}{
	{"Nguyễn", 38}, {"Trần", 11}, {"Lê", 9}, {"Phạm", 7}, {"Hoàng", 4}, {"Huỳnh", 3},
	{"Phan", 4}, {"Vũ", 3}, {"Võ", 3}, {"Đặng", 2}, {"Bùi", 2}, {"Đỗ", 2}, {"Hồ", 2},
	{"Ngô", 2}, {"Dương", 1}, {"Lý", 1}, {"Đinh", 1}, {"Trương", 1}, {"Mai", 1}, {"Cao", 1},
}

var familyWeightTotal = func() int {
	n := 0
	for _, f := range familyNames {
		n += f.weight
	}
	return n
}()

var (
	maleMiddle   = []string{"Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Hoàng", "Gia", "Công", "Xuân"}
	femaleMiddle = []string{"Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Bảo", "Phương", "Hoài", "Mỹ"}
	maleGiven    = []string{"An", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khang", "Khánh", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Vinh"}
	femaleGiven  = []string{"An", "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Trang", "Uyên", "Vy", "Yến"}
)

// personName draws a Vietnamese full name ("Nguyễn Văn An").
func personName(r *rand.Rand) string {
	w := r.IntN(familyWeightTotal)
	family := familyNames[0].name
	for _, f := range familyNames {
		if w < f.weight {
			family = f.name
			break
		}
		w -= f.weight
	}
	if r.IntN(100) < 58 { // contact-centre floors in Vietnam lean female
		return family + " " + femaleMiddle[r.IntN(len(femaleMiddle))] + " " + femaleGiven[r.IntN(len(femaleGiven))]
	}
	return family + " " + maleMiddle[r.IntN(len(maleMiddle))] + " " + maleGiven[r.IntN(len(maleGiven))]
}

// agentExtension is the extension of the i-th generated agent (1001, 1002, ...).
func agentExtension(i int) string { return strconv.Itoa(1001 + i) }

// agentDisplay is how an agent appears as the last agent of a call and in the transfer
// picker: the person's name and the extension.
func agentDisplay(name, ext string) string { return name + " (" + ext + ")" }
