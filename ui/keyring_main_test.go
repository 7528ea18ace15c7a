package ui

import (
	"testing"

	"github.com/earshot-app/earshot/internal/keyringtest"
)

func TestMain(m *testing.M) { keyringtest.Main(m) }
